output "deployment_name" {
  description = "The MirrorMaker 2 Deployment on the DR cluster (kubectl -n <namespace> logs deploy/<name>)."
  value       = kubernetes_deployment_v1.mm2.metadata[0].name
}

output "mirrored_topics" {
  description = "The regular expression of the topics mirrored from the primary to the DR cluster."
  value       = var.topics
}
