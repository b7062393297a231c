output "api_url" {
  description = "The API's load balancer URL."
  value       = "http://${module.release.api_hostname}"
}

output "kafka_bootstrap" {
  description = "MSK bootstrap servers (SASL/SCRAM over TLS)."
  value       = module.region.kafka_bootstrap
}

output "postgres_dsn" {
  description = "PostgreSQL DSN without the password."
  value       = module.postgres.dsn
}

output "eks_cluster_name" {
  description = "The EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = module.region.eks_cluster_name
}
