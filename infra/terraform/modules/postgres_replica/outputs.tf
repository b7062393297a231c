output "arn" {
  description = "The replica's ARN."
  value       = aws_db_instance.this.arn
}

output "dsn" {
  description = "MEMSTREAM_POSTGRES_DSN of the DR region, without the password (the primary's, replicated)."
  value       = "postgresql://${var.username}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.database}?sslmode=require"
}
