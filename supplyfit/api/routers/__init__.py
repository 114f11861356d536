"""The API routes by area: loads, results, jobs and keys."""
