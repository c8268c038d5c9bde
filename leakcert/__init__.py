"""The `leakcert` command: certify, report, gate, subjects, cases, doctor."""
