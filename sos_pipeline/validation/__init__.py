"""Validation of centre deliveries: the rule catalogue (rules) and the Great Expectations suites (suites)."""
