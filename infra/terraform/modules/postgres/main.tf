# The primary PostgreSQL (RDS): encrypted, backed up (cross-region read replicas need automated backups), the
# password generated here and kept in Secrets Manager, replicated to the DR region for its read replica.

resource "aws_security_group" "db" {
  name_prefix = "${var.name}-pg-"
  vpc_id      = var.vpc_id
  description = "PostgreSQL ${var.name}"
  ingress {
    description = "PostgreSQL"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = var.client_cidr_blocks
  }
  tags = var.tags
}

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "postgres${var.engine_version}"
  # The project's connections use SCRAM passwords over TLS, as in infra/local.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "password_encryption"
    value = "scram-sha-256"
  }
  tags = var.tags
}

resource "random_password" "db" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "db" {
  name_prefix = "${var.name}-postgres-"
  description = "Password of ${var.username} on ${var.name}"
  dynamic "replica" {
    for_each = toset(var.secret_replica_regions)
    content {
      region = replica.value
    }
  }
  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id     = aws_secretsmanager_secret.db.id
  secret_string = random_password.db.result
}

resource "aws_db_instance" "this" {
  identifier                = var.name
  engine                    = "postgres"
  engine_version            = var.engine_version
  instance_class            = var.instance_class
  allocated_storage         = var.allocated_storage_gb
  max_allocated_storage     = var.allocated_storage_gb * 4
  storage_type              = "gp3"
  storage_encrypted         = true
  db_name                   = var.database
  username                  = var.username
  password                  = random_password.db.result
  db_subnet_group_name      = aws_db_subnet_group.this.name
  vpc_security_group_ids    = [aws_security_group.db.id]
  parameter_group_name      = aws_db_parameter_group.this.name
  multi_az                  = var.multi_az
  backup_retention_period   = 7
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-final"
  copy_tags_to_snapshot     = true
  tags                      = var.tags
}
