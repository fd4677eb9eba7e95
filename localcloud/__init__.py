"""Run the regionflow Pulumi program without the Pulumi CLI: under recording mocks (unit tests)."""
