from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        """Let the dead-letter queue requeue failed webhook processing (recovery.deadletter)."""
        from recovery.deadletter import register_requeue_handler
        from webhooks.services import JOB_KIND_WEBHOOK_EVENT, webhook_event_requeue_dead

        register_requeue_handler(JOB_KIND_WEBHOOK_EVENT, webhook_event_requeue_dead)
