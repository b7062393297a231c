# MirrorMaker 2 (Kafka's dedicated mode, connect-mirror-maker.sh) on the DR cluster, pulling memstream's topics
# from the primary region's MSK into the DR region's MSK under the same names (IdentityReplicationPolicy), so
# the DR region's processes read the topics they always read; consumer group offsets are translated too.
# The SASL settings come from a Secret through Kafka's file config provider, so no password is in the ConfigMap.

data "aws_secretsmanager_secret_version" "source" {
  provider  = aws.primary
  secret_id = var.source_credential_secret_id
}

data "aws_secretsmanager_secret_version" "target" {
  secret_id = var.target_credential_secret_id
}

locals {
  source = jsondecode(data.aws_secretsmanager_secret_version.source.secret_string)
  target = jsondecode(data.aws_secretsmanager_secret_version.target.secret_string)
  jaas   = "org.apache.kafka.common.security.scram.ScramLoginModule required"
}

resource "kubernetes_secret_v1" "sasl" {
  metadata {
    name      = "${var.name}-sasl"
    namespace = var.namespace
  }
  data = {
    "sasl.properties" = <<-PROPERTIES
      primary=${local.jaas} username="${local.source.username}" password="${local.source.password}";
      dr=${local.jaas} username="${local.target.username}" password="${local.target.password}";
    PROPERTIES
  }
}

resource "kubernetes_config_map_v1" "mm2" {
  metadata {
    name      = var.name
    namespace = var.namespace
  }
  data = {
    "mm2.properties" = <<-PROPERTIES
      clusters=primary,dr
      primary.bootstrap.servers=${var.source_bootstrap}
      dr.bootstrap.servers=${var.target_bootstrap}
      primary->dr.enabled=true
      primary->dr.topics=${var.topics}
      dr->primary.enabled=false
      replication.policy.class=org.apache.kafka.connect.mirror.IdentityReplicationPolicy
      sync.group.offsets.enabled=true
      emit.checkpoints.interval.seconds=10
      replication.factor=3
      config.providers=file
      config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
      primary.security.protocol=SASL_SSL
      primary.sasl.mechanism=SCRAM-SHA-512
      primary.sasl.jaas.config=$${file:/etc/mm2-sasl/sasl.properties:primary}
      dr.security.protocol=SASL_SSL
      dr.sasl.mechanism=SCRAM-SHA-512
      dr.sasl.jaas.config=$${file:/etc/mm2-sasl/sasl.properties:dr}
    PROPERTIES
  }
}

resource "kubernetes_deployment_v1" "mm2" {
  metadata {
    name      = var.name
    namespace = var.namespace
    labels    = { "app.kubernetes.io/name" = var.name }
  }
  spec {
    replicas = var.replicas
    selector {
      match_labels = { "app.kubernetes.io/name" = var.name }
    }
    template {
      metadata {
        labels = { "app.kubernetes.io/name" = var.name }
        # A changed configuration rolls the pods.
        annotations = { "checksum/config" = sha256(kubernetes_config_map_v1.mm2.data["mm2.properties"]) }
      }
      spec {
        container {
          name    = "mirror-maker"
          image   = var.kafka_image
          command = ["/opt/kafka/bin/connect-mirror-maker.sh", "/etc/mm2/mm2.properties"]
          resources {
            requests = { cpu = "500m", memory = "1Gi" }
            limits   = { memory = "2Gi" }
          }
          volume_mount {
            name       = "config"
            mount_path = "/etc/mm2"
          }
          volume_mount {
            name       = "sasl"
            mount_path = "/etc/mm2-sasl"
            read_only  = true
          }
        }
        volume {
          name = "config"
          config_map {
            name = kubernetes_config_map_v1.mm2.metadata[0].name
          }
        }
        volume {
          name = "sasl"
          secret {
            secret_name = kubernetes_secret_v1.sasl.metadata[0].name
          }
        }
      }
    }
  }
}
