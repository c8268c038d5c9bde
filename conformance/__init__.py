"""The conformance suite: subjects, triggers, probes, cases and their verdicts."""
