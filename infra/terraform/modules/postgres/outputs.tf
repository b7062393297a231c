output "arn" {
  description = "The instance's ARN: the source of cross-region read replicas."
  value       = aws_db_instance.this.arn
}

output "address" {
  description = "The instance's DNS name."
  value       = aws_db_instance.this.address
}

output "dsn" {
  description = "MEMSTREAM_POSTGRES_DSN, without the password (the pods read it from a file)."
  value       = "postgresql://${var.username}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.database}?sslmode=require"
}

output "password_secret_arn" {
  description = "Secrets Manager secret holding the password (a reference, not the value)."
  value       = aws_secretsmanager_secret.db.arn
}

output "password_secret_name" {
  description = "Name of the password's secret: the same in every region it is replicated to (the DR region reads it by name)."
  value       = aws_secretsmanager_secret.db.name
}
