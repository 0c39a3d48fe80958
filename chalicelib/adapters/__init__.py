"""The outside world: AWS services and other systems, behind small classes."""
