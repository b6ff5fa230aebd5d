"""Delivery: how an issued invoice reaches its customer (web statement or letter), and what the customer sees."""
