"""Run ``template.yaml`` on one machine with no AWS account and no Docker.

``python -m local up`` starts an in-process moto server, creates the
template's resources in it and serves the template's HTTP APIs; functions run
in warm worker processes, one event at a time each, the way Lambda runs them.
See the README's "The local stack" and ``python -m local --help``.
"""
