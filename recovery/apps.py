from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"

    def ready(self):
        """Wire the recovery app into what needs it at start-up, once the models are loaded.

        - the flag cache flushes (recovery.receivers);
        - the dead-letter queue's requeue handler for publish jobs;
        - Sentry's test for expected failures (config.sentry imports no app code).
        """
        from config.sentry import set_expected_failure_test
        from recovery import receivers  # noqa: F401  (connects the flag cache flushes)
        from recovery.deadletter import JOB_KIND_POST_PUBLISH, register_requeue_handler
        from recovery.failures import is_expected_failure
        from recovery.posts import post_requeue_dead

        register_requeue_handler(JOB_KIND_POST_PUBLISH, post_requeue_dead)
        set_expected_failure_test(is_expected_failure)
