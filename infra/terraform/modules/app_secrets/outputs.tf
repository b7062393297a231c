output "api_key_pepper_secret_name" {
  description = "Secrets Manager secret holding the API key pepper (a reference that works in every region it is replicated to)."
  value       = aws_secretsmanager_secret.app["api-key-pepper"].name
}

output "token_secret_name" {
  description = "Secrets Manager secret holding the consistency-token key (a reference that works in every region it is replicated to)."
  value       = aws_secretsmanager_secret.app["token-secret"].name
}
