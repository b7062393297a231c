terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.38"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
  # The state holds the generated passwords (sensitive, never printed): an encrypted bucket with locking.
  # terraform init -backend-config="bucket=..." -backend-config="key=memstream/dev.tfstate" -backend-config="region=..."
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
