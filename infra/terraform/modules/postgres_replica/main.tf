# A cross-region read replica of the primary PostgreSQL: the DR region's standby. A failover promotes it
# (aws rds promote-read-replica), after which the DR region's API writes through it.

resource "aws_kms_key" "replica" {
  description             = "Encrypts the ${var.name} read replica (a key of the replica's region)"
  deletion_window_in_days = 30
  enable_key_rotation     = true
  tags                    = var.tags
}

resource "aws_security_group" "db" {
  name_prefix = "${var.name}-pg-"
  vpc_id      = var.vpc_id
  description = "PostgreSQL replica ${var.name}"
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

resource "aws_db_instance" "this" {
  identifier             = var.name
  replicate_source_db    = var.source_db_arn
  instance_class         = var.instance_class
  storage_encrypted      = true
  kms_key_id             = aws_kms_key.replica.arn
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  # Kept after a promotion, which makes it a primary with its own backups.
  backup_retention_period = 7
  skip_final_snapshot     = true
  tags                    = var.tags
}
