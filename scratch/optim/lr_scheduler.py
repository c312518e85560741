"""Learning-rate schedules with torch's class names (namespace mirrors torch.optim.lr_scheduler)."""
