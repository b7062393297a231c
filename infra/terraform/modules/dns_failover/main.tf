# DNS failover between the regions: clients resolve record_name to the primary region's load balancer while
# its /ready answers, and to the DR region's when it does not (Route 53 failover routing with health checks).

locals {
  regions = {
    primary = { hostname = var.primary_hostname, role = "PRIMARY" }
    dr      = { hostname = var.dr_hostname, role = "SECONDARY" }
  }
}

resource "aws_route53_health_check" "api" {
  for_each          = local.regions
  fqdn              = each.value.hostname
  type              = "HTTP"
  port              = var.health_check_port
  resource_path     = var.health_check_path
  request_interval  = 10
  failure_threshold = 3
  tags              = merge(var.tags, { Name = "memstream-api-${each.key}" })
}

resource "aws_route53_record" "api" {
  for_each        = local.regions
  zone_id         = var.zone_id
  name            = var.record_name
  type            = "CNAME"
  ttl             = var.ttl_seconds
  records         = [each.value.hostname]
  set_identifier  = each.key
  health_check_id = aws_route53_health_check.api[each.key].id
  failover_routing_policy {
    type = each.value.role
  }
}
