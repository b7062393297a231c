terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
      # aws: the DR region (where MirrorMaker 2 runs); aws.primary: the primary region, for its Kafka credential.
      configuration_aliases = [aws.primary]
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.38"
    }
  }
}
