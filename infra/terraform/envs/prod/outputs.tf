output "api_url" {
  description = "The API's public URL, answered by whichever region is healthy."
  value       = "http://${module.dns.fqdn}"
}

output "primary_api_hostname" {
  description = "The primary region's API load balancer."
  value       = module.release_primary.api_hostname
}

output "dr_api_hostname" {
  description = "The DR region's API load balancer (answers reads while on standby)."
  value       = module.release_dr.api_hostname
}

output "primary_kafka_bootstrap" {
  description = "The primary region's MSK bootstrap servers (SASL/SCRAM over TLS)."
  value       = module.primary.kafka_bootstrap
}

output "dr_kafka_bootstrap" {
  description = "The DR region's MSK bootstrap servers: the mirrored log the DR region rebuilds its stores from."
  value       = module.dr.kafka_bootstrap
}

output "dr_postgres_replica_arn" {
  description = "The DR region's PostgreSQL read replica: promote it on failover (aws rds promote-read-replica)."
  value       = module.postgres_replica.arn
}

output "mirror_maker_deployment" {
  description = "The MirrorMaker 2 Deployment on the DR cluster (namespace memstream): its lag is the recovery point."
  value       = module.mirror_maker.deployment_name
}

output "dns_health_check_ids" {
  description = "Route 53 health checks of the regions' /ready."
  value       = module.dns.health_check_ids
}

output "eks_clusters" {
  description = "EKS cluster names by region role (aws eks update-kubeconfig --name ...)."
  value       = { primary = module.primary.eks_cluster_name, dr = module.dr.eks_cluster_name }
}
