"""SQS-triggered order processor: store each order once, publish its event at least once."""
