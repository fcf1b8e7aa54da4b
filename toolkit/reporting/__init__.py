"""What people read: report.html, the results table of several runs, and plots."""
