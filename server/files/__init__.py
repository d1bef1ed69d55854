"""Files: vote files in; text, CSV, JSON, HTML, PNG and Parquet leaderboards out."""
