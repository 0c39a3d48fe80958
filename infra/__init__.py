"""Deploy resources (CloudFormation merged into `chalice package`) and the local stack."""
