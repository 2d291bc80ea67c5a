"""Workers: each owns a Kafka consumer loop and turns records into commands."""
