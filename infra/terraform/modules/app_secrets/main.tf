# The API's own secrets, one pair for every region of an environment: the API key pepper (API keys are stored
# hashed with it in PostgreSQL, which the DR region receives by replication) and the consistency-token key.
# Generated once here, kept in Secrets Manager, replicated to the DR region.

resource "random_password" "app" {
  for_each = toset(["api-key-pepper", "token-secret"])
  length   = 64
  special  = false
}

resource "aws_secretsmanager_secret" "app" {
  for_each    = random_password.app
  name_prefix = "${var.name}-${each.key}-"
  description = "memstream ${each.key} of ${var.name}"
  dynamic "replica" {
    for_each = toset(var.replica_regions)
    content {
      region = replica.value
    }
  }
  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  for_each      = random_password.app
  secret_id     = aws_secretsmanager_secret.app[each.key].id
  secret_string = each.value.result
}
