# Production: a primary region serving traffic and a DR region on warm standby, failed over by DNS.
#
#   primary: VPC, MSK, RDS PostgreSQL (primary), ElastiCache, EKS + memstream, Milvus, Neo4j
#   dr:      VPC, its own MSK fed by MirrorMaker 2, an RDS cross-region read replica, ElastiCache, EKS +
#            memstream in standby (no stream workers; Milvus, Neo4j and Redis projected from the mirrored log)
#   Route 53 answers the API's name with the primary's load balancer while its /ready answers, else the DR's.
#
# The recovery steps (promote the replica, take the DR region out of standby) are docs/disaster-recovery.md.

locals {
  name = "memstream-${var.environment}"
  # Zones per region: each region has one private route table per zone, which the peering routes go into.
  az_count = 3
}

module "primary" {
  source           = "../../modules/region"
  name             = "${local.name}-primary"
  cidr_block       = var.primary_cidr
  az_count         = local.az_count
  peer_cidr_blocks = [var.dr_cidr] # MirrorMaker 2 in the DR region reads this region's Kafka
  eks              = { public_endpoint_cidrs = var.eks_public_endpoint_cidrs }
}

module "dr" {
  source     = "../../modules/region"
  providers  = { aws = aws.dr }
  name       = "${local.name}-dr"
  cidr_block = var.dr_cidr
  az_count   = local.az_count
  eks        = { public_endpoint_cidrs = var.eks_public_endpoint_cidrs, node_desired = 2 }
}

# ------------------------------------------------------------------------------ the regions' peering

resource "aws_vpc_peering_connection" "regions" {
  provider    = aws.dr
  vpc_id      = module.dr.vpc_id
  peer_vpc_id = module.primary.vpc_id
  peer_region = var.primary_region
}

resource "aws_vpc_peering_connection_accepter" "regions" {
  vpc_peering_connection_id = aws_vpc_peering_connection.regions.id
  auto_accept               = true
}

resource "aws_route" "primary_to_dr" {
  count                     = local.az_count
  route_table_id            = module.primary.private_route_table_ids[count.index]
  destination_cidr_block    = var.dr_cidr
  vpc_peering_connection_id = aws_vpc_peering_connection.regions.id
}

resource "aws_route" "dr_to_primary" {
  provider                  = aws.dr
  count                     = local.az_count
  route_table_id            = module.dr.private_route_table_ids[count.index]
  destination_cidr_block    = var.primary_cidr
  vpc_peering_connection_id = aws_vpc_peering_connection.regions.id
}

# ------------------------------------------------------------------------------ shared secrets, PostgreSQL

module "app_secrets" {
  source          = "../../modules/app_secrets"
  name            = local.name
  replica_regions = [var.dr_region]
}

module "postgres" {
  source                 = "../../modules/postgres"
  name                   = "${local.name}-primary"
  vpc_id                 = module.primary.vpc_id
  subnet_ids             = module.primary.private_subnet_ids
  client_cidr_blocks     = [var.primary_cidr]
  secret_replica_regions = [var.dr_region]
}

module "postgres_replica" {
  source             = "../../modules/postgres_replica"
  providers          = { aws = aws.dr }
  name               = "${local.name}-dr"
  source_db_arn      = module.postgres.arn
  vpc_id             = module.dr.vpc_id
  subnet_ids         = module.dr.private_subnet_ids
  client_cidr_blocks = [var.dr_cidr]
}

# ------------------------------------------------------------------------------ memstream in each region

module "release_primary" {
  source                      = "../../modules/memstream_release"
  providers                   = { aws = aws, helm = helm, kubernetes = kubernetes }
  image_repository            = var.image_repository
  image_tag                   = var.image_tag
  kafka_bootstrap             = module.primary.kafka_bootstrap
  kafka_replication_factor    = module.primary.kafka_replication_factor
  kafka_credential_secret_id  = module.primary.kafka_credential_secret_arn
  postgres_dsn                = module.postgres.dsn
  postgres_password_secret_id = module.postgres.password_secret_arn
  redis_url                   = module.primary.redis_url
  redis_auth_secret_id        = module.primary.redis_auth_secret_arn
  api_key_pepper_secret_id    = module.app_secrets.api_key_pepper_secret_name
  token_secret_id             = module.app_secrets.token_secret_name
  milvus                      = var.milvus
  neo4j                       = var.neo4j
  jwt_jwks_url                = var.jwt_jwks_url
}

module "release_dr" {
  source                     = "../../modules/memstream_release"
  providers                  = { aws = aws.dr, helm = helm.dr, kubernetes = kubernetes.dr }
  standby                    = true
  image_repository           = var.image_repository
  image_tag                  = var.image_tag
  kafka_bootstrap            = module.dr.kafka_bootstrap
  kafka_replication_factor   = module.dr.kafka_replication_factor
  kafka_credential_secret_id = module.dr.kafka_credential_secret_arn
  postgres_dsn               = module.postgres_replica.dsn
  # Replicated secrets are read by name in the DR region.
  postgres_password_secret_id = module.postgres.password_secret_name
  redis_url                   = module.dr.redis_url
  redis_auth_secret_id        = module.dr.redis_auth_secret_arn
  api_key_pepper_secret_id    = module.app_secrets.api_key_pepper_secret_name
  token_secret_id             = module.app_secrets.token_secret_name
  milvus                      = var.milvus
  neo4j                       = var.neo4j
  jwt_jwks_url                = var.jwt_jwks_url
}

module "mirror_maker" {
  source                      = "../../modules/mirror_maker"
  providers                   = { aws = aws.dr, aws.primary = aws, kubernetes = kubernetes.dr }
  namespace                   = "memstream"
  source_bootstrap            = module.primary.kafka_bootstrap
  source_credential_secret_id = module.primary.kafka_credential_secret_arn
  target_bootstrap            = module.dr.kafka_bootstrap
  target_credential_secret_id = module.dr.kafka_credential_secret_arn
  depends_on                  = [module.release_dr, aws_route.dr_to_primary]
}

module "dns" {
  source           = "../../modules/dns_failover"
  zone_id          = var.dns_zone_id
  record_name      = var.api_record_name
  primary_hostname = module.release_primary.api_hostname
  dr_hostname      = module.release_dr.api_hostname
}
