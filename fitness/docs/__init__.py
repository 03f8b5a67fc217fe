"""Fitness functions over the decision records and the contract file."""
