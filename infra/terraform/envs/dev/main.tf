# Development: one region, small and cheap (one NAT gateway, two zones, single-node Redis, PostgreSQL without a
# standby), the same modules as production. No DR region: see envs/prod for the standby and DNS failover.

locals {
  name = "memstream-${var.environment}"
}

module "region" {
  source             = "../../modules/region"
  name               = local.name
  cidr_block         = var.cidr_block
  az_count           = 2
  single_nat_gateway = true
  kafka              = { instance_type = "kafka.t3.small", volume_size_gb = 50 }
  redis              = { node_type = "cache.t4g.small", replicas = 0 }
  eks = {
    node_instance_types   = ["t3.xlarge"]
    node_min              = 1
    node_desired          = 2
    node_max              = 3
    public_endpoint_cidrs = var.eks_public_endpoint_cidrs
  }
}

module "app_secrets" {
  source = "../../modules/app_secrets"
  name   = local.name
}

module "postgres" {
  source               = "../../modules/postgres"
  name                 = local.name
  instance_class       = "db.t4g.medium"
  allocated_storage_gb = 20
  multi_az             = false
  deletion_protection  = false
  vpc_id               = module.region.vpc_id
  subnet_ids           = module.region.private_subnet_ids
  client_cidr_blocks   = [var.cidr_block]
}

module "release" {
  source                      = "../../modules/memstream_release"
  image_repository            = var.image_repository
  image_tag                   = var.image_tag
  kafka_bootstrap             = module.region.kafka_bootstrap
  kafka_replication_factor    = module.region.kafka_replication_factor
  kafka_credential_secret_id  = module.region.kafka_credential_secret_arn
  postgres_dsn                = module.postgres.dsn
  postgres_password_secret_id = module.postgres.password_secret_arn
  redis_url                   = module.region.redis_url
  redis_auth_secret_id        = module.region.redis_auth_secret_arn
  api_key_pepper_secret_id    = module.app_secrets.api_key_pepper_secret_name
  token_secret_id             = module.app_secrets.token_secret_name
  milvus                      = var.milvus
  neo4j                       = var.neo4j
  api_replicas                = { min = 1, max = 3 }
}
