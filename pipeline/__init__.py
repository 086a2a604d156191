"""distill-forensics: find adversarial-distillation campaigns in LLM API request logs."""
