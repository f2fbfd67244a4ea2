"""The HTML pages: the shopper's assistant page and the admin browser."""
