"""The forecast job on AWS Batch (Fargate), scheduled by EventBridge: its settings, IAM policies and component."""
