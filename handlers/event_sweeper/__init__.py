"""The event sweeper Lambda function: publishes the events of stored orders that never got out."""
