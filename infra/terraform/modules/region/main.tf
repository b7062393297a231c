# What every region of an environment has: the network, its own Kafka (MSK), its own Redis and an EKS cluster.
# PostgreSQL differs by role (a primary, or a cross-region replica) and is composed by the environment.

module "network" {
  source             = "../network"
  name               = var.name
  cidr_block         = var.cidr_block
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
  tags               = var.tags
}

module "kafka" {
  source             = "../kafka"
  name               = var.name
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  client_cidr_blocks = concat([module.network.vpc_cidr_block], var.peer_cidr_blocks)
  instance_type      = var.kafka.instance_type
  brokers_per_zone   = var.kafka.brokers_per_zone
  volume_size_gb     = var.kafka.volume_size_gb
  tags               = var.tags
}

module "redis" {
  source             = "../redis"
  name               = var.name
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  client_cidr_blocks = [module.network.vpc_cidr_block]
  node_type          = var.redis.node_type
  replicas           = var.redis.replicas
  tags               = var.tags
}

module "eks" {
  source                = "../eks"
  name                  = var.name
  kubernetes_version    = var.eks.kubernetes_version
  subnet_ids            = module.network.private_subnet_ids
  node_instance_types   = var.eks.node_instance_types
  node_count            = { min = var.eks.node_min, desired = var.eks.node_desired, max = var.eks.node_max }
  public_endpoint_cidrs = var.eks.public_endpoint_cidrs
  tags                  = var.tags
}
