# MSK with SASL/SCRAM over TLS only (no unauthenticated or plaintext listener), the pipeline's credential
# generated here and kept in Secrets Manager (MSK reads SCRAM users from secrets named AmazonMSK_*, encrypted
# with a customer key).

resource "aws_security_group" "brokers" {
  name_prefix = "${var.name}-msk-"
  vpc_id      = var.vpc_id
  description = "MSK brokers of ${var.name}: SASL/SCRAM over TLS from the given ranges"
  ingress {
    description = "SASL/SCRAM over TLS"
    from_port   = 9096
    to_port     = 9096
    protocol    = "tcp"
    cidr_blocks = var.client_cidr_blocks
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = var.tags
}

resource "aws_kms_key" "msk" {
  description             = "Encrypts ${var.name}'s data at rest and its SCRAM secret"
  deletion_window_in_days = 30
  enable_key_rotation     = true
  tags                    = var.tags
}

locals {
  brokers = var.brokers_per_zone * length(var.subnet_ids)
  # Three replicas when there are three brokers or more; a write waits for all but one of them.
  replication_factor = min(3, local.brokers)
  min_insync         = max(1, local.replication_factor - 1)
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-config"
  kafka_versions = [var.kafka_version]
  # The project creates its topics itself (adapters/kafka.py: ensure_topics) with these replication settings.
  # Every client authenticates (SCRAM is the only listener), so a resource without ACLs is open to the
  # authenticated principals only: the pipeline, and producers whose ACLs (memstream producers) narrow them.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${local.replication_factor}
    min.insync.replicas=${local.min_insync}
    unclean.leader.election.enable=false
    allow.everyone.if.no.acl.found=true
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = local.brokers

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.brokers.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.volume_size_gb
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  client_authentication {
    unauthenticated = false
    sasl {
      scram = true
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.msk.arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  tags = var.tags
}

resource "random_password" "pipeline" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "pipeline" {
  name_prefix = "AmazonMSK_${var.name}-pipeline-"
  kms_key_id  = aws_kms_key.msk.arn
  description = "SCRAM credential of ${var.username} on ${var.name}"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "pipeline" {
  secret_id     = aws_secretsmanager_secret.pipeline.id
  secret_string = jsonencode({ username = var.username, password = random_password.pipeline.result })
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.pipeline.arn]
  depends_on      = [aws_secretsmanager_secret_version.pipeline]
}
