"""DynamoDB through PynamoDB: models (one table each), key builders, conditional writes, transactions."""
