output "cluster_name" {
  description = "The EKS cluster's name (aws eks update-kubeconfig --name ...)."
  value       = aws_eks_cluster.this.name
}

output "endpoint" {
  description = "The Kubernetes API server's URL, for the kubernetes and helm providers."
  value       = aws_eks_cluster.this.endpoint
}

output "certificate_authority" {
  description = "The API server's CA certificate, base64-encoded PEM."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}
