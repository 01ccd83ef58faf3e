"""The web pages people look at: a client of the services' public HTTP APIs only.

It never opens a database and never imports a service (an import contract checks it):
what it shows is what the order, payment, logistics, returns and notify APIs answer.
"""
