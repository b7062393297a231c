output "fqdn" {
  description = "The API's name clients use, answered by whichever region is healthy."
  value       = aws_route53_record.api["primary"].fqdn
}

output "health_check_ids" {
  description = "Route 53 health checks by region (primary, dr): the drill watches them flip."
  value       = { for region, check in aws_route53_health_check.api : region => check.id }
}
