output "cluster_arn" {
  description = "The MSK cluster's ARN."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers" {
  description = "SASL/SCRAM (TLS) bootstrap servers, host:9096,...: MEMSTREAM_KAFKA_BOOTSTRAP."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "credential_secret_arn" {
  description = "Secrets Manager secret holding {username, password} of the pipeline's SCRAM user (a reference, not the value)."
  value       = aws_secretsmanager_secret.pipeline.arn
}

output "username" {
  description = "The pipeline's SCRAM user name."
  value       = var.username
}

output "security_group_id" {
  description = "The brokers' security group."
  value       = aws_security_group.brokers.id
}

output "replication_factor" {
  description = "Replicas of each topic on this cluster: MEMSTREAM_KAFKA_REPLICATION_FACTOR (the chart's kafka.replicationFactor)."
  value       = local.replication_factor
}
