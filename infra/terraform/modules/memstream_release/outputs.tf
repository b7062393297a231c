output "api_hostname" {
  description = "DNS name of the API's Network Load Balancer: this region's entry point (a DNS failover target)."
  value       = data.kubernetes_service_v1.api.status[0].load_balancer[0].ingress[0].hostname
}

output "milvus_uri" {
  description = "MEMSTREAM_MILVUS_URI the release uses (in-cluster service or Zilliz Cloud)."
  value       = local.milvus_uri
}

output "neo4j_uri" {
  description = "MEMSTREAM_NEO4J_URI the release uses (in-cluster service or Aura)."
  value       = local.neo4j_uri
}
