"""API Gateway (REST, proxy integration) entry point of the orders API."""
