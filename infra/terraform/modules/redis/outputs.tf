output "url" {
  description = "MEMSTREAM_REDIS_URL (rediss://, TLS), without the AUTH token (the pods read it from a file)."
  value       = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
}

output "auth_secret_arn" {
  description = "Secrets Manager secret holding the AUTH token (a reference, not the value)."
  value       = aws_secretsmanager_secret.auth.arn
}
