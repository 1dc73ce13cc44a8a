"""Moving real money in: payments, the providers that carry them, and their webhooks."""
