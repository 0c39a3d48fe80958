// Stands in for @aws-sdk/client-chime-sdk-messaging in the join page's bundle: the page uses
// meetings only, and the messaging client (the AWS SDK for Node) cannot be bundled for a browser.
module.exports = {};
