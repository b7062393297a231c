output "vpc_id" {
  description = "The region's VPC."
  value       = module.network.vpc_id
}

output "vpc_cidr_block" {
  description = "The region's VPC range."
  value       = module.network.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "The region's private subnets."
  value       = module.network.private_subnet_ids
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets (for peering routes)."
  value       = module.network.private_route_table_ids
}

output "kafka_bootstrap" {
  description = "SASL/SCRAM bootstrap servers of the region's MSK cluster."
  value       = module.kafka.bootstrap_brokers
}

output "kafka_credential_secret_arn" {
  description = "Secret with the pipeline's SCRAM credential on the region's MSK cluster (a reference)."
  value       = module.kafka.credential_secret_arn
}

output "redis_url" {
  description = "The region's Redis URL, without the AUTH token."
  value       = module.redis.url
}

output "redis_auth_secret_arn" {
  description = "Secret with the region's Redis AUTH token (a reference)."
  value       = module.redis.auth_secret_arn
}

output "eks_cluster_name" {
  description = "The region's EKS cluster."
  value       = module.eks.cluster_name
}

output "eks_endpoint" {
  description = "The region's Kubernetes API server URL."
  value       = module.eks.endpoint
}

output "eks_certificate_authority" {
  description = "The region's Kubernetes API server CA certificate (base64 PEM)."
  value       = module.eks.certificate_authority
}

output "kafka_replication_factor" {
  description = "Replicas of each topic on the region's MSK cluster."
  value       = module.kafka.replication_factor
}
