"""SES email: a text and an HTML part, optionally a calendar (.ics) attachment."""
from __future__ import annotations

from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


class SesMailer:
    def __init__(self, client, sender: str):
        self.client = client
        self.sender = sender

    def send(self, to: str, subject: str, text: str, html: str, attachments: list[tuple[str, str, bytes]] = ()) -> str:
        """Send one email; returns the SES message id. Raises on failure (the outbox retries)."""
        if not attachments:
            response = self.client.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                                  "Html": {"Data": html, "Charset": "UTF-8"}}},
            )
            return response["MessageId"]
        message = MIMEMultipart("mixed")
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = to
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(text, "plain", "utf-8"))
        body.attach(MIMEText(html, "html", "utf-8"))
        message.attach(body)
        for filename, content_type, data in attachments:
            maintype, _, subtype = content_type.partition("/")
            part = MIMEApplication(data, _subtype=subtype.split(";")[0])
            part.replace_header("Content-Type", content_type)
            part.add_header("Content-Disposition", "attachment", filename=filename)
            message.attach(part)
        response = self.client.send_raw_email(Source=self.sender, Destinations=[to],
                                              RawMessage={"Data": message.as_bytes()})
        return response["MessageId"]
