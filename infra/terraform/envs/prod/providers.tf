locals {
  tags = { project = "memstream", environment = var.environment }
}

provider "aws" {
  region = var.primary_region
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias  = "dr"
  region = var.dr_region
  default_tags {
    tags = local.tags
  }
}

# Each region's cluster, reached with a token from the AWS CLI of whoever applies (an EKS access entry admin).
provider "kubernetes" {
  host                   = module.primary.eks_endpoint
  cluster_ca_certificate = base64decode(module.primary.eks_certificate_authority)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.primary.eks_cluster_name, "--region", var.primary_region]
  }
}

provider "kubernetes" {
  alias                  = "dr"
  host                   = module.dr.eks_endpoint
  cluster_ca_certificate = base64decode(module.dr.eks_certificate_authority)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.dr.eks_cluster_name, "--region", var.dr_region]
  }
}

provider "helm" {
  kubernetes = {
    host                   = module.primary.eks_endpoint
    cluster_ca_certificate = base64decode(module.primary.eks_certificate_authority)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.primary.eks_cluster_name, "--region", var.primary_region]
    }
  }
}

provider "helm" {
  alias = "dr"
  kubernetes = {
    host                   = module.dr.eks_endpoint
    cluster_ca_certificate = base64decode(module.dr.eks_certificate_authority)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.dr.eks_cluster_name, "--region", var.dr_region]
    }
  }
}
