"""The operations command: `fulfil lag|tail|dlq ...`, from the broker and the services' ops APIs."""
