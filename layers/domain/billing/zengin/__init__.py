"""Zengin (全銀協) bank files: fixed-length records as data, their layouts, and names in the bank's kana form."""
