locals {
  tags = { project = "memstream", environment = var.environment }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

provider "kubernetes" {
  host                   = module.region.eks_endpoint
  cluster_ca_certificate = base64decode(module.region.eks_certificate_authority)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.region.eks_cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes = {
    host                   = module.region.eks_endpoint
    cluster_ca_certificate = base64decode(module.region.eks_certificate_authority)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.region.eks_cluster_name, "--region", var.region]
    }
  }
}
